"""API keys in the OS keychain."""
