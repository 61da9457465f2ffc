"""Sound in and out: microphone capture and speaker playback through sounddevice, with resampling by soxr."""
