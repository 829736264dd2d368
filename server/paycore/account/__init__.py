"""AccountService: merchants, seller accounts, API keys, and authentication by API key."""
