"""Natural-language understanding: normalize, classify intents, extract entities."""
