"""Evaluation reports on a contract or a pilot, interim or final, over a chosen period."""
