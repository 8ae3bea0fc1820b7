"""`PackError`, apart from the packer, so the modules the packer uses (trainer configs) can raise it without
importing the packer back."""

from proofpile.errors import ProofpileError


class PackError(ProofpileError, ValueError):
    """Bad input or options; one line naming the file or option."""
