"""OpenAI-compatible LLM, ServiceNow and HRIS clients (same error and retry discipline as ws1ai.uem)."""
