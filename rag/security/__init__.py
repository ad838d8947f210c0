"""Prompt-injection defence: a rule-based detector (`injection.py`) and the pipeline's
guard step (`guard.py`) that applies it to the question and to every retrieved chunk."""
