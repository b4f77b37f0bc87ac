"""Spiders that fail on purpose, for the one-process crawl tests (tests/test_one_process.py).

Reconstructed — not a capture: made-up failures of a spider's own code, each pointed at the
test's local site (FUNDRADAR_TEST_SITE), to show one broken spider does not stop the others.
"""
