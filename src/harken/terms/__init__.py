"""MyTerms (IEEE 7012-2025): terms the person proffers and the business accepts, answers with an
alternative, or declines; accepted terms bind the business's decisions."""
