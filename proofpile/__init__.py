"""proofpile: rebuild Proof-Pile-2 and build better math corpora on datatrove."""

__version__ = "0.1.0"
