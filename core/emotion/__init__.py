"""Emotion: the speech-emotion model (its own issue) and the fusion of speech and text evidence."""
