"""exchange domain (共享交换): data resources, sharing requests and agreements, fetches."""
