"""Backbone extractor plugins for the features the published TIM recipes use (one module per backbone)."""
