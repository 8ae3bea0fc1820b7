"""Packing: documents -> token ids in files GPT-NeoX and Megatron-LM load as they are.

    from proofpile.pack import pack, verify
    pack("out/algebraic-stack", "tokenizer.model", "out/packed", workers=2)
    assert verify("out/packed").ok
"""

from proofpile.pack.megatron import IndexedReader, IndexedWriter, IndexFormatError, token_dtype
from proofpile.pack.errors import PackError
from proofpile.pack.packer import PROOF_PILE_2_WEIGHTS, Framing, pack, prefix_name
from proofpile.pack.tokenizer import (
    DEFAULT_TOKENIZER,
    PackTokenizer,
    TokenizerError,
    TokenizerParityError,
    load_tokenizer,
)
from proofpile.pack.verify import VerifyReport, verify

__all__ = [
    "DEFAULT_TOKENIZER",
    "PROOF_PILE_2_WEIGHTS",
    "Framing",
    "IndexFormatError",
    "IndexedReader",
    "IndexedWriter",
    "PackError",
    "PackTokenizer",
    "TokenizerError",
    "TokenizerParityError",
    "VerifyReport",
    "load_tokenizer",
    "pack",
    "prefix_name",
    "token_dtype",
    "verify",
]
