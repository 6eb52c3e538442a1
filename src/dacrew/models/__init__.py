"""Model resolution (``init_chat_model`` strings, ``replay:<cassette>``, the dry-run model), usage and cost."""
