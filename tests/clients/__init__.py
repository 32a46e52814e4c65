"""Tests of the client SDK and the consent CLI (clients/python)."""
