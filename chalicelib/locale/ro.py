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
}
