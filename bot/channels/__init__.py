"""Channel adapters: the only code that speaks Telegram's or WhatsApp's wire format."""
