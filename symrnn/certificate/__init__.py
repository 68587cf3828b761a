"""The certificate: an engine that checks printed formulas (``engine``) and the catalogues
of formulas it checks (``note``: the study note's, attached to the ``rnn`` model)."""
