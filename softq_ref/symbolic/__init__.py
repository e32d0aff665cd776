"""Symbolic (sympy) derivations behind the notebooks in ``proofs/``.

One module per derivation; each ``derive_*`` function performs the steps with
sympy and returns them, each ``check_*`` function raises
:class:`~softq_ref.symbolic._common.DerivationError` if a step does not hold.
The notebooks and the tests call the same functions. Importing this
subpackage imports sympy; ``import softq_ref`` does not.
"""
