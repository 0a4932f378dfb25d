"""Find data and a base model: Hub metadata search, local catalogs, column mapping.

Public API (what the agent calls):
    search.search_datasets(query, settings=None, catalogs=(), filters=None, k=10,
                           spec=None, client=None, rerank=False) -> SearchResult
    models.search_models(query="", spec=None, settings=None, k=10, ...) -> SearchResult
    mapping.fit_dataset(spec, candidate, client=None, settings=None) -> FitResult
    mapping.load_examples(spec, candidate, settings=None, cap=5000) -> list[Example]
    mapping.user_file_candidate(path) -> Candidate
    refresh.refresh(settings) -> RefreshReport            (online only)
Heavy libraries (sentence_transformers, datasets) load inside functions.
"""
