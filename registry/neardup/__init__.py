"""Near-duplicate search: exact Hamming-radius indexes for PDQ hashes and ISCC Content-Codes."""
