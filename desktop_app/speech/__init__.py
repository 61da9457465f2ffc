"""Speech adapters: Vosk and PocketSphinx recognizers, the spoken-answer speaker and the Vosk model manager."""
