"""What the assistant answers: skills, intent parsing, language-model routing."""
