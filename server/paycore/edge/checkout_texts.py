"""The hosted payment page's words in the buyer's language (paycore.edge.pages), as Stripe's
Checkout shows its page in the session's `locale`: a table of texts per language, one key per
label, button or message, English the default and the fallback.

Which language: the session's `locale` when the table has its language (`fr-CA` and `es-419` by
theirs, `fr` and `es`); with `auto` or none given, the browser's first language of its
Accept-Language the table has (Stripe's `auto`, its default); else English. A locale the table
has no text for (`nl`) is English, and so is the page's `lang` then.

`PAGE` texts are rendered by the template; `SCRIPT` texts are handed to static/checkout.js (the
page's own checks, its waits); `DECLINES`, by the error's `decline_code` else `code`, replace the
API's English decline message on a page in another language. A text's `{merchant}`, `{amount}`,
`{discount}` and `{subtotal}` are filled in by the template. Amounts are written with the
language's decimal and grouping marks (`NUMBERS`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT = "en"

NUMBERS: dict[str, tuple[str, str]] = {
    # language: (decimal mark, grouping mark)
    "en": (".", ","),
    "fr": (",", "\u202f"),
    "de": (",", "."),
    "es": (",", "."),
    "pt": (",", "."),
    "ja": (".", ","),
}

PAGE: dict[str, dict[str, str]] = {
    "en": {
        "pay_title": "Pay {merchant}",
        "items_caption": "What you pay for",
        "discount": "Discount: {discount} off {subtotal}",
        "paid_heading": "Paid",
        "paid_text": "This payment is complete. Thank you.",
        "continue": "Continue",
        "expired_heading": "This payment page has expired",
        "expired_text": "It can no longer be paid. Ask {merchant} for a new link.",
        "back_to": "Back to {merchant}",
        "processing_heading": "Your payment is being processed",
        "processing_text": "This page refreshes on its own; there is no need to pay again.",
        "promotion_code": "Promotion code",
        "apply": "Apply",
        "code_invalid": "This code is invalid.",
        "pay_with_card": "Pay with card",
        "email": "Email",
        "name_on_card": "Name on card",
        "card_number": "Card number",
        "expiry": "Expiry (MM/YY)",
        "expiry_placeholder": "MM/YY",
        "cvc": "CVC",
        "pay": "Pay {amount}",
        "cancel": "Cancel and go back to {merchant}",
        "noscript": "This page needs JavaScript to send your card to paycore securely.",
        "powered": "Payments by paycore",
    },
    "fr": {
        "pay_title": "Payer {merchant}",
        "items_caption": "Ce que vous payez",
        "discount": "Réduction : {discount} sur {subtotal}",
        "paid_heading": "Payé",
        "paid_text": "Ce paiement est terminé. Merci.",
        "continue": "Continuer",
        "expired_heading": "Cette page de paiement a expiré",
        "expired_text": "Elle ne peut plus être payée. Demandez un nouveau lien à {merchant}.",
        "back_to": "Retour à {merchant}",
        "processing_heading": "Votre paiement est en cours de traitement",
        "processing_text": "Cette page s'actualise d'elle-même ; inutile de payer à nouveau.",
        "promotion_code": "Code promotionnel",
        "apply": "Appliquer",
        "code_invalid": "Ce code n'est pas valide.",
        "pay_with_card": "Payer par carte",
        "email": "E-mail",
        "name_on_card": "Nom du titulaire de la carte",
        "card_number": "Numéro de carte",
        "expiry": "Date d'expiration (MM/AA)",
        "expiry_placeholder": "MM/AA",
        "cvc": "CVC",
        "pay": "Payer {amount}",
        "cancel": "Annuler et revenir à {merchant}",
        "noscript": (
            "Cette page a besoin de JavaScript pour envoyer votre carte à paycore en toute "
            "sécurité."
        ),
        "powered": "Paiements par paycore",
    },
    "de": {
        "pay_title": "{merchant} bezahlen",
        "items_caption": "Was Sie bezahlen",
        "discount": "Rabatt: {discount} auf {subtotal}",
        "paid_heading": "Bezahlt",
        "paid_text": "Diese Zahlung ist abgeschlossen. Vielen Dank.",
        "continue": "Weiter",
        "expired_heading": "Diese Zahlungsseite ist abgelaufen",
        "expired_text": (
            "Sie kann nicht mehr bezahlt werden. Bitten Sie {merchant} um einen neuen Link."
        ),
        "back_to": "Zurück zu {merchant}",
        "processing_heading": "Ihre Zahlung wird verarbeitet",
        "processing_text": (
            "Diese Seite aktualisiert sich von selbst; Sie müssen nicht erneut bezahlen."
        ),
        "promotion_code": "Aktionscode",
        "apply": "Anwenden",
        "code_invalid": "Dieser Code ist ungültig.",
        "pay_with_card": "Mit Karte bezahlen",
        "email": "E-Mail",
        "name_on_card": "Name auf der Karte",
        "card_number": "Kartennummer",
        "expiry": "Ablaufdatum (MM/JJ)",
        "expiry_placeholder": "MM/JJ",
        "cvc": "Prüfnummer (CVC)",
        "pay": "{amount} bezahlen",
        "cancel": "Abbrechen und zurück zu {merchant}",
        "noscript": "Diese Seite braucht JavaScript, um Ihre Karte sicher an paycore zu senden.",
        "powered": "Zahlungen über paycore",
    },
    "es": {
        "pay_title": "Pagar a {merchant}",
        "items_caption": "Lo que paga",
        "discount": "Descuento: {discount} sobre {subtotal}",
        "paid_heading": "Pagado",
        "paid_text": "Este pago se ha completado. Gracias.",
        "continue": "Continuar",
        "expired_heading": "Esta página de pago ha caducado",
        "expired_text": "Ya no se puede pagar. Pida a {merchant} un enlace nuevo.",
        "back_to": "Volver a {merchant}",
        "processing_heading": "Su pago se está procesando",
        "processing_text": "Esta página se actualiza sola; no hace falta volver a pagar.",
        "promotion_code": "Código promocional",
        "apply": "Aplicar",
        "code_invalid": "Este código no es válido.",
        "pay_with_card": "Pagar con tarjeta",
        "email": "Correo electrónico",
        "name_on_card": "Nombre del titular",
        "card_number": "Número de tarjeta",
        "expiry": "Caducidad (MM/AA)",
        "expiry_placeholder": "MM/AA",
        "cvc": "CVC",
        "pay": "Pagar {amount}",
        "cancel": "Cancelar y volver a {merchant}",
        "noscript": (
            "Esta página necesita JavaScript para enviar su tarjeta a paycore de forma segura."
        ),
        "powered": "Pagos con paycore",
    },
    "pt": {
        "pay_title": "Pagar {merchant}",
        "items_caption": "O que você paga",
        "discount": "Desconto: {discount} sobre {subtotal}",
        "paid_heading": "Pago",
        "paid_text": "Este pagamento foi concluído. Obrigado.",
        "continue": "Continuar",
        "expired_heading": "Esta página de pagamento expirou",
        "expired_text": "Ela não pode mais ser paga. Peça um novo link a {merchant}.",
        "back_to": "Voltar para {merchant}",
        "processing_heading": "Seu pagamento está sendo processado",
        "processing_text": "Esta página é atualizada sozinha; não é preciso pagar de novo.",
        "promotion_code": "Código promocional",
        "apply": "Aplicar",
        "code_invalid": "Este código é inválido.",
        "pay_with_card": "Pagar com cartão",
        "email": "E-mail",
        "name_on_card": "Nome no cartão",
        "card_number": "Número do cartão",
        "expiry": "Validade (MM/AA)",
        "expiry_placeholder": "MM/AA",
        "cvc": "CVC",
        "pay": "Pagar {amount}",
        "cancel": "Cancelar e voltar para {merchant}",
        "noscript": (
            "Esta página precisa de JavaScript para enviar seu cartão à paycore com segurança."
        ),
        "powered": "Pagamentos por paycore",
    },
    "ja": {
        "pay_title": "{merchant} へのお支払い",
        "items_caption": "お支払い内容",
        "discount": "割引: {subtotal} から {discount} 引き",
        "paid_heading": "支払い済み",
        "paid_text": "このお支払いは完了しました。ありがとうございました。",
        "continue": "続ける",
        "expired_heading": "この支払いページの有効期限が切れました",
        "expired_text": (
            "このページではお支払いいただけません。"
            "{merchant} に新しいリンクをお問い合わせください。"
        ),
        "back_to": "{merchant} に戻る",
        "processing_heading": "お支払いを処理しています",
        "processing_text": (
            "このページは自動的に更新されます。再度お支払いいただく必要はありません。"
        ),
        "promotion_code": "プロモーションコード",
        "apply": "適用",
        "code_invalid": "このコードは無効です。",
        "pay_with_card": "カードで支払う",
        "email": "メールアドレス",
        "name_on_card": "カード名義人",
        "card_number": "カード番号",
        "expiry": "有効期限 (MM/YY)",
        "expiry_placeholder": "MM/YY",
        "cvc": "セキュリティコード",
        "pay": "{amount} を支払う",
        "cancel": "キャンセルして {merchant} に戻る",
        "noscript": "カード情報を paycore に安全に送信するには JavaScript が必要です。",
        "powered": "決済: paycore",
    },
}

SCRIPT: dict[str, dict[str, str]] = {
    "en": {
        "processing_button": "Processing…",
        "invalid_email": "Your email address is invalid.",
        "invalid_number": "Your card number is invalid.",
        "invalid_expiry": "Your card's expiration date is invalid.",
        "invalid_expiry_month": "Your card's expiration month is invalid.",
        "invalid_expiry_year": "Your card's expiration year is invalid.",
        "expired_card": "Your card has expired.",
        "invalid_cvc": "Your card's security code is invalid.",
        "cvc_missing": "Enter your card's security code.",
        "card_refused": "The card was refused.",
        "unreachable": "paycore could not be reached. Check your connection and try again.",
        "processing_wait": "Your payment is being processed. This page will update.",
        "authenticate": (
            "Your bank asks you to confirm this payment: press Pay to do so, or type another card."
        ),
        "payment_failed": "The payment failed.",
    },
    "fr": {
        "processing_button": "Traitement…",
        "invalid_email": "Votre adresse e-mail n'est pas valide.",
        "invalid_number": "Le numéro de votre carte n'est pas valide.",
        "invalid_expiry": "La date d'expiration de votre carte n'est pas valide.",
        "invalid_expiry_month": "Le mois d'expiration de votre carte n'est pas valide.",
        "invalid_expiry_year": "L'année d'expiration de votre carte n'est pas valide.",
        "expired_card": "Votre carte a expiré.",
        "invalid_cvc": "Le code de sécurité de votre carte n'est pas valide.",
        "cvc_missing": "Saisissez le code de sécurité de votre carte.",
        "card_refused": "La carte a été refusée.",
        "unreachable": "Impossible de joindre paycore. Vérifiez votre connexion et réessayez.",
        "processing_wait": (
            "Votre paiement est en cours de traitement. Cette page va se mettre à jour."
        ),
        "authenticate": (
            "Votre banque vous demande de confirmer ce paiement : appuyez sur Payer pour le "
            "faire, ou saisissez une autre carte."
        ),
        "payment_failed": "Le paiement a échoué.",
    },
    "de": {
        "processing_button": "Wird verarbeitet…",
        "invalid_email": "Ihre E-Mail-Adresse ist ungültig.",
        "invalid_number": "Ihre Kartennummer ist ungültig.",
        "invalid_expiry": "Das Ablaufdatum Ihrer Karte ist ungültig.",
        "invalid_expiry_month": "Der Ablaufmonat Ihrer Karte ist ungültig.",
        "invalid_expiry_year": "Das Ablaufjahr Ihrer Karte ist ungültig.",
        "expired_card": "Ihre Karte ist abgelaufen.",
        "invalid_cvc": "Die Prüfnummer Ihrer Karte ist ungültig.",
        "cvc_missing": "Geben Sie die Prüfnummer Ihrer Karte ein.",
        "card_refused": "Die Karte wurde abgelehnt.",
        "unreachable": (
            "paycore ist nicht erreichbar. Prüfen Sie Ihre Verbindung und versuchen Sie es erneut."
        ),
        "processing_wait": "Ihre Zahlung wird verarbeitet. Diese Seite wird aktualisiert.",
        "authenticate": (
            "Ihre Bank bittet Sie, diese Zahlung zu bestätigen: Drücken Sie dazu auf Bezahlen, "
            "oder geben Sie eine andere Karte ein."
        ),
        "payment_failed": "Die Zahlung ist fehlgeschlagen.",
    },
    "es": {
        "processing_button": "Procesando…",
        "invalid_email": "Su dirección de correo electrónico no es válida.",
        "invalid_number": "El número de su tarjeta no es válido.",
        "invalid_expiry": "La fecha de caducidad de su tarjeta no es válida.",
        "invalid_expiry_month": "El mes de caducidad de su tarjeta no es válido.",
        "invalid_expiry_year": "El año de caducidad de su tarjeta no es válido.",
        "expired_card": "Su tarjeta ha caducado.",
        "invalid_cvc": "El código de seguridad de su tarjeta no es válido.",
        "cvc_missing": "Introduzca el código de seguridad de su tarjeta.",
        "card_refused": "La tarjeta fue rechazada.",
        "unreachable": (
            "No se ha podido contactar con paycore. Compruebe su conexión y vuelva a intentarlo."
        ),
        "processing_wait": "Su pago se está procesando. Esta página se actualizará.",
        "authenticate": (
            "Su banco le pide que confirme este pago: pulse Pagar para hacerlo, o introduzca "
            "otra tarjeta."
        ),
        "payment_failed": "El pago ha fallado.",
    },
    "pt": {
        "processing_button": "Processando…",
        "invalid_email": "Seu endereço de e-mail é inválido.",
        "invalid_number": "O número do seu cartão é inválido.",
        "invalid_expiry": "A data de validade do seu cartão é inválida.",
        "invalid_expiry_month": "O mês de validade do seu cartão é inválido.",
        "invalid_expiry_year": "O ano de validade do seu cartão é inválido.",
        "expired_card": "Seu cartão expirou.",
        "invalid_cvc": "O código de segurança do seu cartão é inválido.",
        "cvc_missing": "Digite o código de segurança do seu cartão.",
        "card_refused": "O cartão foi recusado.",
        "unreachable": (
            "Não foi possível contatar a paycore. Verifique sua conexão e tente novamente."
        ),
        "processing_wait": "Seu pagamento está sendo processado. Esta página será atualizada.",
        "authenticate": (
            "Seu banco pede que você confirme este pagamento: pressione Pagar para confirmar ou "
            "digite outro cartão."
        ),
        "payment_failed": "O pagamento falhou.",
    },
    "ja": {
        "processing_button": "処理中…",
        "invalid_email": "メールアドレスが無効です。",
        "invalid_number": "カード番号が無効です。",
        "invalid_expiry": "カードの有効期限が無効です。",
        "invalid_expiry_month": "カードの有効期限の月が無効です。",
        "invalid_expiry_year": "カードの有効期限の年が無効です。",
        "expired_card": "カードの有効期限が切れています。",
        "invalid_cvc": "カードのセキュリティコードが無効です。",
        "cvc_missing": "カードのセキュリティコードを入力してください。",
        "card_refused": "カードが拒否されました。",
        "unreachable": "paycore に接続できません。接続を確認して、もう一度お試しください。",
        "processing_wait": "お支払いを処理しています。このページは更新されます。",
        "authenticate": (
            "カード発行会社がこのお支払いの確認を求めています。確認するには支払うボタンを押すか、"
            "別のカードを入力してください。"
        ),
        "payment_failed": "お支払いに失敗しました。",
    },
}

DECLINES: dict[str, dict[str, str]] = {
    # English keeps the API's own message (the PSP's, as Stripe's), so none here.
    "en": {},
    "fr": {
        "payment_intent_authentication_failure": "L'authentification de votre carte a échoué.",
        "card_declined": "Votre carte a été refusée.",
        "generic_decline": "Votre carte a été refusée.",
        "insufficient_funds": "Le solde de votre carte est insuffisant.",
        "expired_card": "Votre carte a expiré.",
        "incorrect_cvc": "Le code de sécurité de votre carte est incorrect.",
        "processing_error": (
            "Une erreur s'est produite lors du traitement de votre carte. Réessayez dans un "
            "instant."
        ),
    },
    "de": {
        "payment_intent_authentication_failure": (
            "Die Authentifizierung Ihrer Karte ist fehlgeschlagen."
        ),
        "card_declined": "Ihre Karte wurde abgelehnt.",
        "generic_decline": "Ihre Karte wurde abgelehnt.",
        "insufficient_funds": "Ihre Karte ist nicht ausreichend gedeckt.",
        "expired_card": "Ihre Karte ist abgelaufen.",
        "incorrect_cvc": "Die Prüfnummer Ihrer Karte ist falsch.",
        "processing_error": (
            "Bei der Verarbeitung Ihrer Karte ist ein Fehler aufgetreten. Versuchen Sie es "
            "gleich noch einmal."
        ),
    },
    "es": {
        "payment_intent_authentication_failure": "La autenticación de su tarjeta ha fallado.",
        "card_declined": "Su tarjeta ha sido rechazada.",
        "generic_decline": "Su tarjeta ha sido rechazada.",
        "insufficient_funds": "Su tarjeta no tiene fondos suficientes.",
        "expired_card": "Su tarjeta ha caducado.",
        "incorrect_cvc": "El código de seguridad de su tarjeta es incorrecto.",
        "processing_error": (
            "Se ha producido un error al procesar su tarjeta. Vuelva a intentarlo en unos momentos."
        ),
    },
    "pt": {
        "payment_intent_authentication_failure": "A autenticação do seu cartão falhou.",
        "card_declined": "Seu cartão foi recusado.",
        "generic_decline": "Seu cartão foi recusado.",
        "insufficient_funds": "Seu cartão não tem saldo suficiente.",
        "expired_card": "Seu cartão expirou.",
        "incorrect_cvc": "O código de segurança do seu cartão está incorreto.",
        "processing_error": (
            "Ocorreu um erro ao processar seu cartão. Tente novamente em instantes."
        ),
    },
    "ja": {
        "payment_intent_authentication_failure": "カードの認証に失敗しました。",
        "card_declined": "カードが拒否されました。",
        "generic_decline": "カードが拒否されました。",
        "insufficient_funds": "カードの残高が不足しています。",
        "expired_card": "カードの有効期限が切れています。",
        "incorrect_cvc": "カードのセキュリティコードが正しくありません。",
        "processing_error": (
            "カードの処理中にエラーが発生しました。しばらくしてからもう一度お試しください。"
        ),
    },
}


@dataclass(frozen=True, slots=True)
class PageLanguage:
    """The language a page is shown in: `lang` for the html element (the session's own tag
    when it is in this language, `fr-CA`), `key` the table's."""

    lang: str
    key: str

    @property
    def page(self) -> dict[str, str]:
        return PAGE[self.key]

    @property
    def script(self) -> dict[str, object]:
        """What static/checkout.js is handed: its texts and the declines' words."""
        return {**SCRIPT[self.key], "declines": DECLINES[self.key]}

    @property
    def numbers(self) -> tuple[str, str]:
        return NUMBERS[self.key]

    def decline(self, code: str) -> str:
        """A decline's words by its decline_code or code; "" for the API's own message."""
        return DECLINES[self.key].get(code, "")


def _language(tag: str) -> str:
    return tag.strip().split("-")[0].split("_")[0].lower()


def _browser_languages(accept_language: str) -> list[str]:
    """Accept-Language's languages, the most wanted first (q=0 left out)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, *params = part.split(";")
        quality = 1.0
        for param in params:
            name, _, value = param.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag.strip() and quality > 0:
            ranked.append((-quality, position, _language(tag)))
    return [language for _, _, language in sorted(ranked)]


def page_language(locale: str | None, accept_language: str = "") -> PageLanguage:
    """The session's `locale` if the table has its language; with `auto` or none, the
    browser's; else English."""
    if locale and locale != "auto":
        language = _language(locale)
        if language in PAGE:
            return PageLanguage(lang=locale, key=language)
        return PageLanguage(lang=DEFAULT, key=DEFAULT)
    for language in _browser_languages(accept_language or ""):
        if language in PAGE:
            return PageLanguage(lang=language, key=language)
    return PageLanguage(lang=DEFAULT, key=DEFAULT)
