"""ogi: the Open Government Information annual-report ETL (政府信息公开工作年度报告)."""

__version__ = "0.1.0"
USER_AGENT = f"ogi-etl/{__version__} (+https://github.com/ogi-etl/ogi-etl; annual-report research crawler)"
