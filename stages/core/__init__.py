"""The dataset contract and the machinery every stage shares: schemas, manifests, atomic writes, runners."""
