"""Airflow-side helpers of the streamstack DAGs: operators chosen per target, store readers, and
the DAG arguments they all share."""
