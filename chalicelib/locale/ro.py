"""The Romanian translations (P32), kept as Python so a reviewer reads them beside their English;
`make locale` writes them into ro/LC_MESSAGES/messages.po and compiles it.
"""
from __future__ import annotations

RO: dict[str, str] = {
    "%(controller)s decides what happens to your data (the controller). How and why it is used:":
        "%(controller)s decide ce se întâmplă cu datele tale (operatorul). Cum și de ce sunt folosite:",
    "%(controller)s decides what happens to your data (the controller).":
        "%(controller)s decide ce se întâmplă cu datele tale (operatorul).",
    "(optional)": "(opțional)",
    "Almost done": "Aproape gata",
    "Choose what to stop. It takes effect as soon as you press the button; nothing happens until then.":
        "Alege ce oprești. Are efect imediat ce apeși butonul; până atunci nu se întâmplă nimic.",
    "Confirm my subscription": "Confirm abonarea",
    "Confirm your subscription": "Confirmă abonarea",
    "Confirm your subscription to %(name)s": "Confirmă abonarea la %(name)s",
    "Either way, %(sender)s will not be able to add your address to its lists again.":
        "Oricum ai alege, %(sender)s nu îți va mai putea adăuga adresa pe listele sale.",
    "Email address": "Adresa de email",
    "Hello,": "Bună ziua,",
    "If you did not ask for this, ignore this message: you will not be added, and we will not write again "
    "about it. The link works for %(days)s days.":
        "Dacă nu ai cerut asta, ignoră acest mesaj: nu vei fi adăugat și nu îți vom mai scrie despre asta. "
        "Linkul funcționează %(days)s zile.",
    "Leave this empty": "Lasă acest câmp gol",
    "Name": "Nume",
    "Or copy this link into your browser:": "Sau copiază acest link în browser:",
    "Please confirm your subscription to %(list)s": "Te rugăm să confirmi abonarea la %(list)s",
    "Press the button to confirm that you want to receive mail from %(sender)s. If you did not ask for "
    "this, ignore this page: nothing happens until you press the button.":
        "Apasă butonul pentru a confirma că vrei să primești mesaje de la %(sender)s. Dacă nu ai cerut "
        "asta, ignoră această pagină: nu se întâmplă nimic până nu apeși butonul.",
    "Privacy policy": "Politica de confidențialitate",
    "Stop mail from %(name)s": "Oprește mesajele de la %(name)s",
    "Stop mail from every list of %(sender)s": "Oprește mesajele de pe toate listele %(sender)s",
    "Subscribe": "Abonează-mă",
    "Subscribe to %(name)s": "Abonează-te la %(name)s",
    "Thank you. Please check your inbox: we have sent you a link to confirm your subscription.":
        "Mulțumim. Verifică-ți căsuța de email: ți-am trimis un link pentru a confirma abonarea.",
    "Thank you: your subscription to %(list)s is confirmed.":
        "Mulțumim: abonarea la %(list)s este confirmată.",
    "This took effect at once.": "Schimbarea a avut efect imediat.",
    "This signup also ticked the separate box for tracking, so confirming gives that consent too. The box "
    "said:":
        "La această abonare a fost bifată și căsuța separată pentru urmărire, așa că, dacă confirmi, îți "
        "dai și acest consimțământ. Căsuța spunea:",
    "To confirm, open this link and press the button:":
        "Pentru a confirma, deschide acest link și apasă butonul:",
    "Unsubscribe": "Dezabonare",
    "We will send you an email to confirm. Nothing is sent to you before you confirm.":
        "Îți vom trimite un email de confirmare. Nu primești nimic înainte să confirmi.",
    "Yes, confirm my subscription": "Da, confirm abonarea",
    "This sender no longer exists: you will receive no more mail from it.":
        "Acest expeditor nu mai există: nu vei mai primi mesaje de la el.",
    "You are subscribed": "Ești abonat",
    "You are unsubscribed": "Te-ai dezabonat",
    "You can withdraw your consent to tracking at any time in the preference centre, without "
    "unsubscribing.":
        "Îți poți retrage oricând consimțământul pentru urmărire din centrul de preferințe, fără să te "
        "dezabonezi.",
    "You will receive no more mail from any list of this sender.":
        "Nu vei mai primi mesaje de pe nicio listă a acestui expeditor.",
    "You will receive no more mail from this list.": "Nu vei mai primi mesaje de pe această listă.",
    "privacy policy": "politica de confidențialitate",
    "someone, hopefully you, asked to receive \"%(list)s\" from %(sender)s at this address.":
        "cineva, sperăm că tu, a cerut să primească „%(list)s” de la %(sender)s la această adresă.",
    "this list": "această listă",
    "tick the box to give your consent": "bifează căsuța pentru a-ți da consimțământul",
    # The preference centre (P16-P18, P30) and the phone confirmation.
    "%(account)s holds no list entries for this address.":
        "%(account)s nu are nicio înscriere pe liste pentru această adresă.",
    "(restricted: kept, not mailed)": "(restricționat: păstrat, fără mesaje)",
    "Back to your preferences": "Înapoi la preferințele tale",
    "Code": "Cod",
    "Company": "Companie",
    "Confirm": "Confirm",
    "Confirm your phone number": "Confirmă-ți numărul de telefon",
    "Confirmed %(at)s.": "Confirmat %(at)s.",
    "Consent given %(at)s through %(source)s.": "Consimțământ dat %(at)s prin %(source)s.",
    "Correct your details": "Corectează-ți datele",
    "Download everything held about you (JSON)": "Descarcă tot ce se păstrează despre tine (JSON)",
    "Erase my data": "Șterge-mi datele",
    "Erasing removes you from every list and record of %(account)s. It cannot be undone.":
        "Ștergerea te elimină de pe toate listele și din toate evidențele %(account)s. Nu poate fi anulată.",
    "Field of activity": "Domeniu de activitate",
    "Let this list count my opens and clicks": "Permite acestei liste să-mi numere deschiderile și clicurile",
    "Nothing to change": "Nimic de schimbat",
    "Phone": "Telefon",
    "Records of %(count)s message(s) sent to you in the last 30 days.":
        "Evidența a %(count)s mesaj(e) trimise ție în ultimele 30 de zile.",
    "SMS: this list sends none to your number until you confirm it.":
        "SMS: această listă nu îți trimite niciun SMS până nu îți confirmi numărul.",
    "SMS: your number is confirmed for this list.": "SMS: numărul tău este confirmat pentru această listă.",
    "Save": "Salvează",
    "Status:": "Stare:",
    "Stop all mail from %(account)s": "Oprește toate mesajele de la %(account)s",
    "Stop tracking my opens and clicks": "Nu-mi mai urmări deschiderile și clicurile",
    "Text me a code to confirm my number": "Trimite-mi prin SMS un cod pentru a-mi confirma numărul",
    "Thank you": "Mulțumim",
    "These details are deleted on %(date)s; only a keyed fingerprint of your address stays, so that you "
    "are not added again.":
        "Aceste date se șterg pe %(date)s; rămâne doar o amprentă cu cheie a adresei tale, ca să nu fii "
        "adăugat din nou.",
    "This list does not see when you open its mail or which links you click.":
        "Această listă nu vede când îi deschizi mesajele sau pe ce linkuri dai clic.",
    "This list may now see when you open its mail and which links you click. You can withdraw this here "
    "at any time.":
        "Această listă poate vedea acum când îi deschizi mesajele și pe ce linkuri dai clic. Poți retrage "
        "acest acord aici oricând.",
    "This list may now send you SMS. Reply STOP to any of them to stop.":
        "Această listă îți poate trimite acum SMS-uri. Răspunde STOP la oricare dintre ele pentru a le opri.",
    "Once you confirm this subscription, this list may see when you open its mail and which links you click.":
        "După ce confirmi această abonare, lista poate vedea când îi deschizi mesajele și pe ce linkuri "
        "dai clic.",
    "This list may see when you open its mail and which links you click.":
        "Această listă poate vedea când îi deschizi mesajele și pe ce linkuri dai clic.",
    "This list no longer sees when you open its mail or which links you click, and what it had counted "
    "about you is deleted.":
        "Această listă nu mai vede când îi deschizi mesajele sau pe ce linkuri dai clic, iar ce numărase "
        "despre tine a fost șters.",
    "This sender no longer holds anything about you. Only a keyed fingerprint of your address stays, so "
    "that you cannot be added again.":
        "Acest expeditor nu mai păstrează nimic despre tine. Rămâne doar o amprentă cu cheie a adresei "
        "tale, ca să nu poți fi adăugat din nou.",
    "This sender will not mail you again, and cannot add you back. This took effect at once.":
        "Acest expeditor nu îți va mai scrie și nu te poate adăuga din nou. Schimbarea a avut efect imediat.",
    "Tracking is off": "Urmărirea este oprită",
    "Unsubscribe from every list": "Dezabonează-mă de pe toate listele",
    "Unsubscribe from this list": "Dezabonează-mă de pe această listă",
    "We have sent a six-digit code to your phone. Type it here within 15 minutes.":
        "Ți-am trimis pe telefon un cod din șase cifre. Introdu-l aici în 15 minute.",
    "Website": "Site web",
    "What %(account)s holds about you": "Ce păstrează %(account)s despre tine",
    "What you sent is what we already hold.": "Ce ai trimis este deja ce avem.",
    "When you opened, and which links you clicked, in %(count)s campaign(s): the download lists them.":
        "Când ai deschis mesajele și pe ce linkuri ai dat clic, în %(count)s campanie(i): descărcarea le "
        "arată.",
    "You agreed to:": "Ai fost de acord cu:",
    "You are unsubscribed from every list": "Te-ai dezabonat de pe toate listele",
    "You will get no more mail from this list. This took effect at once.":
        "Nu vei mai primi mesaje de pe această listă. Schimbarea a avut efect imediat.",
    "Your data": "Datele tale",
    "Your data is erased": "Datele tale au fost șterse",
    "Your details are changed on every list of this sender you are on.":
        "Datele tale au fost schimbate pe toate listele acestui expeditor pe care ești.",
    "Your details are updated": "Datele tale au fost actualizate",
    "Your number is confirmed": "Numărul tău este confirmat",
    "Your preferences": "Preferințele tale",
    "bounced": "respins",
    "complained": "reclamat ca spam",
    "confirmed": "confirmat",
    "pending": "în așteptare",
    "unsubscribed": "dezabonat",
    # The footer and label the platform adds to marketing mail (P08, P09).
    "Advertisement": "Publicitate",
    "Preferences:": "Preferințe:",
    "Unsubscribe:": "Dezabonare:",
    "Update your preferences": "Actualizează-ți preferințele",
    "You receive this email because you subscribed to %(list)s.":
        "Primești acest email pentru că te-ai abonat la %(list)s.",
    # Pages and mails that belong to no list or to an account (P32): link problems, resend,
    # forward and web view, the platform opt-out, public errors, SMS texts, account mails.
    "%(code)s is your code to receive SMS from %(account)s (%(list)s). If you did not ask for it, "
    "ignore this message.":
        "%(code)s este codul tau pentru a primi SMS de la %(account)s (%(list)s). Daca nu l-ai cerut, ignora "
        "acest mesaj.",
    "'%(field)s' has letters before the @ that email cannot be sent to from here; only ASCII letters "
    "work there":
        "„%(field)s” are înainte de @ litere către care nu se pot trimite mesaje de aici; acolo merg doar "
        "litere ASCII",
    "'%(field)s' is not a valid email address": "„%(field)s” nu este o adresă de email validă",
    "'%(field)s' must be an email address": "„%(field)s” trebuie să fie o adresă de email",
    "'%(name)s' is longer than %(max)s characters": "„%(name)s” are mai mult de %(max)s caractere",
    "'%(name)s' must be text": "„%(name)s” trebuie să fie text",
    "'%(field)s' must be a web address starting with http:// or https://":
        "„%(field)s” trebuie să fie o adresă web care începe cu http:// sau https://",
    "the attributes take too much room together: shorten them, or use plain Latin letters":
        "atributele ocupă prea mult loc împreună: scurtează-le sau folosește litere latine simple",
    "'%(field)s' must be one line of text: it contains %(character)s":
        "„%(field)s” trebuie să fie un singur rând de text: conține %(character)s",
    "'%(field)s' must not contain %(character)s: it reorders the text around it":
        "„%(field)s” nu poate conține %(character)s: reordonează textul din jurul lui",
    "'%(field)s' must not contain an encoded-word (=?...?=): a mail program would show it decoded, "
    "as text no check saw":
        "„%(field)s” nu poate conține un cuvânt codificat (=?...?=): un program de e-mail l-ar afișa "
        "decodificat, ca text pe care nicio verificare nu l-a văzut",
    "'email' is required": "Adresa de email este obligatorie",
    "'phone' is not a valid phone number; use the international form, e.g. +40 712 345 678":
        "Numărul de telefon nu este valid; folosește forma internațională, de exemplu +40 712 345 678",
    "(the part after /f/ in the signup page's address)": "(partea de după /f/ din adresa paginii de abonare)",
    "Ask for a new confirmation link": "Cere un nou link de confirmare",
    "Check your inbox": "Verifică-ți căsuța de email",
    "Confirm the deletion of the account %(account)s": "Confirmă ștergerea contului %(account)s",
    "Confirm the new contact email of %(account)s": "Confirmă noul email de contact al %(account)s",
    "Confirm this address": "Confirm această adresă",
    "Confirm your new contact email": "Confirmă noul email de contact",
    "Confirm: stop all mail sent through this platform":
        "Confirmă: oprește toate mesajele trimise prin această platformă",
    "Contact email changed": "Emailul de contact a fost schimbat",
    "Delete the account %(account)s": "Șterge contul %(account)s",
    "Delete this account": "Șterge acest cont",
    "Deletion confirmed": "Ștergere confirmată",
    "Done": "Gata",
    "Enter your email address and we will send you a new confirmation link.":
        "Introdu adresa de email și îți vom trimite un nou link de confirmare.",
    "Enter your email address. We will send you a link to confirm; once you confirm, no organisation using "
    "this platform can send you mail here any more.":
        "Introdu adresa de email. Îți vom trimite un link de confirmare; după ce confirmi, nicio organizație "
        "care folosește această platformă nu îți mai poate trimite mesaje la această adresă.",
    "Get a link to share": "Obține un link de distribuit",
    "Here is a link to this mail's web version. Pass it on as you like: from your own mailbox, a message or "
    "a chat. It shows the mail without your name and without your own links.":
        "Iată un link către versiunea web a acestui mesaj. Trimite-l mai departe cum vrei: din căsuța ta de "
        "email, într-un mesaj sau într-o conversație. Arată mesajul fără numele tău și fără linkurile tale.",
    "If a signup for this address is waiting for confirmation, we have sent you a new link.":
        "Dacă o abonare pentru această adresă așteaptă confirmarea, ți-am trimis un link nou.",
    "If it has expired, please sign up again.": "Dacă a expirat, te rugăm să te abonezi din nou.",
    "If this is a valid address, we have sent it a link. Open it and press the button to confirm: until then "
    "nothing changes.":
        "Dacă adresa este validă, i-am trimis un link. Deschide-l și apasă butonul pentru a confirma: până "
        "atunci nu se schimbă nimic.",
    "If you did not ask for this, ignore this message: nothing changes. The link works for 2 days.":
        "Dacă nu ai cerut asta, ignoră acest mesaj: nu se schimbă nimic. Linkul funcționează 2 zile.",
    "If you did not ask for this, ignore this message: nothing changes. The link works for 7 days.":
        "Dacă nu ai cerut asta, ignoră acest mesaj: nu se schimbă nimic. Linkul funcționează 7 zile.",
    "If you did not make this change, someone else may hold an API key of the account: revoke the keys you "
    "do not know (GET /v1/keys, then DELETE /v1/keys/{key_id}) and change the contact email back "
    "(POST /v1/account/email-change).":
        "Dacă nu tu ai făcut această schimbare, se poate ca altcineva să aibă o cheie API a contului: "
        "revocă cheile pe care nu le recunoști (GET /v1/keys, apoi DELETE /v1/keys/{key_id}) și schimbă "
        "înapoi emailul de contact (POST /v1/account/email-change).",
    "If you no longer need the account, ignore this message.":
        "Dacă nu mai ai nevoie de cont, ignoră acest mesaj.",
    "List code": "Codul listei",
    "Mailbox providers and Amazon SES treat high bounce and complaint rates as a sign of unwanted mail, and "
    "they would block sending for everyone on this platform. Please check where the addresses on your lists "
    "came from (only people who confirmed their signup belong there), remove addresses that bounce, and "
    "reply to this message so an operator can review the account and lift the suspension.":
        "Furnizorii de email și Amazon SES consideră ratele mari de respingeri și reclamații un semn de "
        "mesaje nedorite și ar bloca trimiterea pentru toți utilizatorii acestei platforme. Verifică de "
        "unde provin adresele de pe listele tale (doar persoanele care și-au confirmat abonarea au ce "
        "căuta acolo), elimină adresele respinse și răspunde la acest mesaj, ca un operator să poată "
        "verifica contul și ridica suspendarea.",
    "No organisation using this platform will send mail to your address any more. This took effect at once.":
        "Nicio organizație care folosește această platformă nu îți va mai trimite mesaje la această adresă. "
        "Schimbarea a avut efect imediat.",
    "Not found": "Nu a fost găsit",
    "Nothing happens until you press the button.": "Nu se întâmplă nimic până nu apeși butonul.",
    "Nothing was changed. Please try this link again later.":
        "Nu s-a schimbat nimic. Te rugăm să încerci din nou linkul mai târziu.",
    "Once you confirm, the account and all its data will be deleted in %(days)s days. Until then you can "
    "export its data, and cancel the deletion with POST /v1/account/reactivate.":
        "După ce confirmi, contul și toate datele lui vor fi șterse în %(days)s zile. Până atunci îi poți "
        "exporta datele și poți anula ștergerea cu POST /v1/account/reactivate.",
    "Open the API": "Deschide API-ul",
    "Press the button and no organisation using this platform will be able to send mail to your address any "
    "more.":
        "Apasă butonul și nicio organizație care folosește această platformă nu îți va mai putea trimite "
        "mesaje la această adresă.",
    "Press the button and the account and all its data will be deleted in %(days)s days. Until then it can "
    "export its data and cancel the deletion (POST /v1/account/reactivate).":
        "Apasă butonul și contul, cu toate datele lui, va fi șters în %(days)s zile. Până atunci își poate "
        "exporta datele și poate anula ștergerea (POST /v1/account/reactivate).",
    "Press the button to make this address the contact email of %(account)s.":
        "Apasă butonul pentru ca această adresă să devină emailul de contact al %(account)s.",
    # SMS: without diacritics, which would halve what fits in one message (GSM 7-bit).
    "Reply STOP to opt out": "Raspunde STOP pentru dezabonare",
    "Reply to this message if you believe this is a mistake.":
        "Răspunde la acest mesaj dacă crezi că este o greșeală.",
    "Send me a new link": "Trimite-mi un link nou",
    "Send me the confirmation link": "Trimite-mi linkul de confirmare",
    "Sending suspended for %(account)s": "Trimiterea a fost suspendată pentru %(account)s",
    "Share this mail": "Distribuie acest mesaj",
    "Sign up again": "Abonează-te din nou",
    "Something is not right": "Ceva nu este în regulă",
    "Stop all mail": "Oprește toate mesajele",
    "Stop all mail from this platform": "Oprește toate mesajele de pe această platformă",
    "Stop all mail sent through this platform": "Oprește toate mesajele trimise prin această platformă",
    "Stop all mail to this address": "Oprește toate mesajele către această adresă",
    "Stop all mail to your address": "Oprește toate mesajele către adresa ta",
    "The account %(account)s will be deleted in %(days)s days":
        "Contul %(account)s va fi șters în %(days)s zile",
    "The account %(account)s will be deleted on %(date)s, with all its data.":
        "Contul %(account)s va fi șters pe %(date)s, cu toate datele lui.",
    "The account can still sign in to the API until %(date)s to export its data (GET /v1/account/export) and "
    "the unsubscribe requests it received (GET /v1/account/unsubscribes); then it is deleted.":
        "Contul mai poate folosi API-ul până pe %(date)s pentru a-și exporta datele (GET /v1/account/export) "
        "și cererile de dezabonare primite (GET /v1/account/unsubscribes); apoi este șters.",
    "The contact email of %(account)s was changed": "Emailul de contact al %(account)s a fost schimbat",
    "The mailing platform": "Platforma de email",
    "The reason given: %(reason)s": "Motivul dat: %(reason)s",
    "This address is now the contact email of %(account)s.":
        "Această adresă este acum emailul de contact al %(account)s.",
    "This confirmation link does not work": "Acest link de confirmare nu funcționează",
    "This confirmation link has expired": "Acest link de confirmare a expirat",
    "This link does not work": "Acest link nu funcționează",
    "This signup cannot be confirmed": "Această abonare nu poate fi confirmată",
    "This signup form does not exist (any more).": "Acest formular de abonare nu există (sau nu mai există).",
    "To go ahead, open this link and press the button:":
        "Pentru a continua, deschide acest link și apasă butonul:",
    "To keep it, make any API call with one of its keys, for example GET /v1/account, within %(days)s days.":
        "Pentru a-l păstra, fă orice apel API cu una dintre cheile lui, de exemplu GET /v1/account, în "
        "%(days)s zile.",
    "Until then, POST /v1/account/reactivate cancels it.":
        "Până atunci, POST /v1/account/reactivate o anulează.",
    "Until then, the account can export its data (GET /v1/account/export) and the unsubscribe requests it "
    "received (GET /v1/account/unsubscribes).":
        "Până atunci, contul își poate exporta datele (GET /v1/account/export) și cererile de dezabonare "
        "primite (GET /v1/account/unsubscribes).",
    "We do not send mail for you: you get a link to this mail's web version and pass it on yourself. "
    "Nobody's address is asked for or kept.":
        "Nu trimitem mesaje în numele tău: primești un link către versiunea web a acestui mesaj și îl "
        "trimiți tu mai departe. Nu cerem și nu păstrăm adresa nimănui.",
    "We send at most one such link a day to an address.":
        "Trimitem cel mult un astfel de link pe zi la o adresă.",
    "Write an email with this link": "Scrie un email cu acest link",
    "Your account %(account)s has been cancelled": "Contul tău %(account)s a fost închis",
    "Your account %(account)s has been suspended": "Contul tău %(account)s a fost suspendat",
    "Your lists, subscribers and reports stay available while sending is suspended. If the suspension lasts "
    "30 days, the account's content is erased.":
        "Listele, abonații și rapoartele tale rămân disponibile cât timp trimiterea este suspendată. Dacă "
        "suspendarea durează 30 de zile, conținutul contului este șters.",
    "a code was sent a moment ago; wait two minutes before asking again":
        "un cod a fost trimis adineauri; așteaptă două minute înainte să ceri altul",
    "an operator of the mailing platform has cancelled the account %(account)s for a breach of the "
    "acceptable-use rules.":
        "un operator al platformei de email a închis contul %(account)s pentru încălcarea regulilor de "
        "utilizare acceptabilă.",
    "an operator of the mailing platform has suspended the account %(account)s for a breach of the "
    "acceptable-use rules.":
        "un operator al platformei de email a suspendat contul %(account)s pentru încălcarea regulilor de "
        "utilizare acceptabilă.",
    "no code can be texted just now; ask again in a few minutes":
        "acum nu se poate trimite niciun cod prin SMS; cere din nou peste câteva minute",
    "no phone number is held for you on this list": "nu avem niciun număr de telefon al tău pe această listă",
    "your number is already confirmed for this list": "numărul tău este deja confirmat pentru această listă",
    "sending for the account %(account)s has been suspended: %(reason)s.":
        "trimiterea pentru contul %(account)s a fost suspendată: %(reason)s.",
    "someone asked to make this address the contact email of the account %(account)s.":
        "cineva a cerut ca această adresă să devină emailul de contact al contului %(account)s.",
    "someone with an API key of the account %(account)s asked to delete it.":
        "cineva cu o cheie API a contului %(account)s a cerut ștergerea lui.",
    "someone, hopefully you, asked that this address receive no more mail from any organisation that sends "
    "through this platform.":
        "cineva, sperăm că tu, a cerut ca această adresă să nu mai primească mesaje de la nicio organizație "
        "care trimite prin această platformă.",
    "the account %(account)s has not been used for 11 months. Accounts unused for a year are deleted with "
    "all their data.":
        "contul %(account)s nu a fost folosit de 11 luni. Conturile nefolosite timp de un an sunt șterse cu "
        "toate datele lor.",
    "the contact email of the account %(account)s was changed on %(date)s from this address to "
    "%(new_email)s. Mail about the account now goes there.":
        "emailul de contact al contului %(account)s a fost schimbat pe %(date)s, de la această adresă la "
        "%(new_email)s. Mesajele despre cont merg acum acolo.",
    "the export could not be prepared; try again": "exportul nu a putut fi pregătit; încearcă din nou",
    "this code is not right, or too old: ask for a new one":
        "acest cod nu este corect sau a expirat: cere unul nou",
    "this forward link no longer works": "acest link de redirecționare nu mai funcționează",
    "this link has expired": "acest link a expirat",
    "this link is not valid": "acest link nu este valid",
    "this link is not valid; it may have been cut or altered":
        "acest link nu este valid; poate a fost tăiat sau modificat",
    "this mail can no longer be shared": "acest mesaj nu mai poate fi distribuit",
    "this mail cannot be forwarded from here": "acest mesaj nu poate fi redirecționat de aici",
    "this mail does not exist": "acest mesaj nu există",
    "this mail was already shared %(count)s times today":
        "acest mesaj a fost deja distribuit de %(count)s ori azi",
    "press one of the page's buttons to say whether this list may count your opens and clicks":
        "apasă unul dintre butoanele paginii ca să spui dacă această listă poate număra când îi deschizi "
        "mesajele și pe ce linkuri dai clic",
    "this page is out of date: reload it and try again":
        "această pagină nu mai este actuală: reîncarc-o și încearcă din nou",
    "this signup is no longer waiting for confirmation; unconfirmed signups are forgotten after "
    "%(days)s days":
        "această abonare nu mai așteaptă confirmarea; abonările neconfirmate sunt uitate după %(days)s zile",
    "this list is not taking signups at the moment": "această listă nu primește abonări în acest moment",
    "this list takes no signups until it links its privacy policy (privacy_policy_url)":
        "această listă nu primește abonări până nu are un link către politica de confidențialitate "
        "(privacy_policy_url)",
    "this is only for lists you are subscribed to and have confirmed":
        "aceasta este doar pentru listele la care ești abonat și ți-ai confirmat abonarea",
    "too many requests from here; please try again later":
        "prea multe cereri de aici; încearcă din nou mai târziu",
    "too many signups from here; please try again later":
        "prea multe abonări de aici; încearcă din nou mai târziu",
    "you are not on this list": "nu ești pe această listă",
    "your number cannot be texted; check the number held for you on this list":
        "numărului tău nu i se pot trimite SMS-uri; verifică numărul pe care îl avem pentru această listă",
    "you asked for %(count)s codes today; ask again tomorrow":
        "ai cerut deja %(count)s coduri azi; cere din nou mâine",
    "you asked for this %(count)s times this hour; try again later":
        "ai cerut deja asta de %(count)s ori în această oră; încearcă din nou mai târziu",
    # SMS answers to keyword replies: without diacritics, so they stay in GSM-7 (one part).
    "You opted out: no more marketing texts will be sent to this number.":
        "Te-ai dezabonat: acest numar nu va mai primi SMS-uri de marketing.",
    "Texts to this number in the last 30 days came from: %(senders)s. Reply STOP to opt out.":
        "SMS-urile primite de acest numar in ultimele 30 de zile au venit de la: %(senders)s. "
        "Raspunde STOP pentru dezabonare.",
    "No sender texted this number in the last 30 days. Reply STOP to opt out.":
        "Niciun expeditor nu a trimis SMS acestui numar in ultimele 30 de zile. "
        "Raspunde STOP pentru dezabonare.",
    # ASCII, as the other SMS answers: one letter outside GSM-7 would double the text's parts.
    "a sender whose name cannot be shown": "un expeditor al carui nume nu poate fi afisat",
    "Replying START restarts no texts: to get them again, sign up on the sender's form.":
        "Raspunsul START nu reporneste SMS-urile: ca sa le primesti din nou, aboneaza-te pe "
        "formularul expeditorului.",
    "'phone' is a premium-rate, shared-cost or other number that is no person's own phone; give a mobile "
    "or landline number":
        "'phone' este un număr cu tarif special, cu cost partajat sau alt număr care nu e telefonul "
        "unei persoane; dă un număr de mobil sau de telefon fix",
    "this sender's forms asked for their %(count)s codes today; ask again tomorrow":
        "formularele acestui expeditor au cerut deja cele %(count)s coduri de azi; cere din nou mâine",
}
