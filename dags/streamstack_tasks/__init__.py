"""Airflow-side helpers of the streamstack DAGs: operators chosen per target, and store readers."""
