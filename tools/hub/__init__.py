"""Find data and a base model: Hub metadata search, local catalogs, column mapping.

    from tools.hub import fit_candidates, load_chosen, search_models
    found = fit_candidates(spec, settings, data_files=[...], catalogs=[...])   # Found
    got = load_chosen(spec, found.fits[:1], settings, cap=6000, test_rows=300) # Gathered
    res = search_models(spec=spec, settings=settings, k=8)                     # SearchResult
    res = search_datasets("classify questions", settings, catalogs=[...])      # SearchResult
    tools.hub.refresh.refresh(settings)            # online only: `p2m hub refresh`

Modules: `gather` (fit candidates, load the chosen data), `search` (datasets),
`models` (base models), `local_index` (records on disk and the hybrid index),
`index` (BM25 + dense), `mapping` (columns and labels), `content` (loading rows),
`catalog` (local folders), `refresh` (live Hub), `records`, `snapshot`, `rerank`.
Heavy libraries (sentence_transformers, datasets, huggingface_hub) load inside functions.
"""

from tools.hub.gather import Found, Gathered, fit_candidates, load_chosen
from tools.hub.mapping import FitResult, fit_dataset, load_examples, user_file_candidate
from tools.hub.models import search_models
from tools.hub.search import DatasetFilters, SearchResult, search_datasets

__all__ = ["DatasetFilters", "FitResult", "Found", "Gathered", "SearchResult", "fit_candidates",
           "fit_dataset", "load_chosen", "load_examples", "search_datasets", "search_models",
           "user_file_candidate"]
