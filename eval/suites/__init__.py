"""Evaluation suites over the generic format (a corpus ``.jsonl`` and a queries ``.jsonl``; see
:mod:`eval.suites.generic`) and one adapter per public dataset in ``../shared/eval-data``.

Each adapter module has ``run(services, sample, baseline=True) -> dict``, ``render(block) -> list[str]``
(Markdown lines of its report section) and ``summary(block) -> list[tuple[str, str, str]]`` (figure, ours,
baseline). Adapters convert their dataset at run time under ``<data_dir>/eval-corpora``, never into the repo.
"""

ADAPTERS = ("h2o_pdfs", "rgb_zh", "cough_oos", "kenya_faq", "bipia", "broad", "oos", "place")
