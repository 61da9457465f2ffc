"""The OpenAI-compatible streaming chat client: the language-model adapter behind core.chat.ChatModel."""
