"""The person's powers as an MCP server, for their own AI assistant: `harken mcp` over stdio, and
`/mcp` (streamable HTTP) on the hub. Every tool is one `/v1/me` call made with the caller's bearer: the
MCP layer holds no authority of its own, so whatever that token may do, the tools may, and no more."""
