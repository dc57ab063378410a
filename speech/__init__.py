"""Offline speech: Vosk recognition of spoken answers, pyttsx3 voice prompts, audio
decoding and resampling, model install.

May import: the kernel (dialogues) only.
"""
