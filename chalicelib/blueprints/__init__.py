"""HTTP routes: `api_*` are the authenticated `/v1` REST API, `public` the pages people open."""
