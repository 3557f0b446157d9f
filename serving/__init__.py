"""Using a pushed model: requests in the serving contract, predictions, recommendations."""
