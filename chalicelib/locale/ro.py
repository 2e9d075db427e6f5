"""The Romanian translations (P32), kept as Python so a reviewer reads them beside their English;
`make locale` writes them into ro/LC_MESSAGES/messages.po and compiles it.
"""
from __future__ import annotations

RO: dict[str, str] = {
    "%(controller)s decides what happens to your data (the controller). How and why it is used:":
        "%(controller)s decide ce se întâmplă cu datele tale (operatorul). Cum și de ce sunt folosite:",
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
    "To confirm, open this link and press the button:":
        "Pentru a confirma, deschide acest link și apasă butonul:",
    "Unsubscribe": "Dezabonare",
    "We will send you an email to confirm. Nothing is sent to you before you confirm.":
        "Îți vom trimite un email de confirmare. Nu primești nimic înainte să confirmi.",
    "Yes, confirm my subscription": "Da, confirm abonarea",
    "You are subscribed": "Ești abonat",
    "You are unsubscribed": "Te-ai dezabonat",
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
}
