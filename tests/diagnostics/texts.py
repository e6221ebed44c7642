"""Real error texts, one or more per fingerprint: the engine's texts as ZETA_FACTS §8 quotes them (its code and
issues), wrapped the way they reach us (an errorMsg with its stack, a log line, a REST answer)."""

from __future__ import annotations


def trace(header: str, *causes: str, frames: int = 3) -> str:
    """A Java stack trace: the header, some frames, then each `Caused by:` with its frames."""
    lines = [header]
    for n in range(frames):
        lines.append(f"\tat org.apache.seatunnel.engine.server.Frame{n}.call(Frame{n}.java:{100 + n})")
    for cause in causes:
        lines.append(f"Caused by: {cause}")
        for n in range(frames):
            lines.append(f"\tat org.apache.seatunnel.connectors.Inner{n}.run(Inner{n}.java:{40 + n})")
        lines.append(f"\t... {frames + 5} more")
    return "\n".join(lines) + "\n"


JOB_FAILED = "org.apache.seatunnel.engine.common.exception.SeaTunnelEngineException: java.lang.RuntimeException"
CLI = "org.apache.seatunnel.core.starter.exception.CommandExecuteException: SeaTunnel job executed failed"

SAMPLES: dict[str, list[str]] = {
    "plugin_not_found": [
        "Plugin PluginIdentifier{engineType='seatunnel', pluginType='source', pluginName='Kafka'} not found.",
        trace(
            "java.lang.RuntimeException: Plugin PluginIdentifier{engineType='seatunnel', pluginType='sink', "
            "pluginName='Doris'} not found.",
        ),
    ],
    "factory_initialize_failed": [
        # a user's client output (2.3.x): the CLI wrapper, API-06, then a bare IllegalArgumentException thrown in the
        # JDBC catalog's constructor; no fingerprint knows the root, so the factory failure is the best answer
        'Exception in thread "main" ' + CLI + "\n"
        "\tat org.apache.seatunnel.core.starter.seatunnel.command.ClientExecuteCommand.execute"
        "(ClientExecuteCommand.java:213)\n"
        "Caused by: org.apache.seatunnel.api.table.factory.FactoryException: ErrorCode:[API-06], "
        "ErrorDescription:[Factory initialize failed] - Unable to create a source for identifier 'Jdbc'.\n"
        "\tat org.apache.seatunnel.api.table.factory.FactoryUtil.createAndPrepareSource(FactoryUtil.java:101)\n"
        "\t... 2 more\n"
        "Caused by: java.lang.IllegalArgumentException\n"
        "\tat com.google.common.base.Preconditions.checkArgument(Preconditions.java:127)\n"
        "\tat org.apache.seatunnel.connectors.seatunnel.jdbc.catalog.AbstractJdbcCatalog.<init>"
        "(AbstractJdbcCatalog.java:92)\n"
        "\tat java.base/java.util.Optional.map(Optional.java:260)\n"
        "\t... 7 more\n",
        trace(
            "org.apache.seatunnel.api.table.factory.FactoryException: ErrorCode:[API-06], "
            "ErrorDescription:[Factory initialize failed] - Unable to create a source for identifier 'Jdbc'.",
        ),
    ],
    "factory_not_found": [
        trace(
            JOB_FAILED,
            "org.apache.seatunnel.api.table.factory.FactoryException: Could not find any factory for identifier "
            "'Paimon' that implements 'org.apache.seatunnel.api.table.factory.CatalogFactory' in the classpath.\n"
            "\nAvailable factory identifiers are:\n\nJdbc\nMySQL-CDC",
        ),
    ],
    "option_validate_failed": [
        "ErrorCode:[API-02], ErrorDescription:[Option item validate failed] - There are unconfigured options, "
        "the options('url', 'driver') are required.",
        trace(
            JOB_FAILED,
            "org.apache.seatunnel.api.configuration.util.OptionValidationException: ErrorCode:[API-02], "
            "ErrorDescription:[Option item validate failed] - The options('query', 'table_path') are mutually "
            "exclusive.",
        ),
    ],
    "plugin_input_not_found": [
        "java.lang.IllegalArgumentException: The 'plugin_input' option configured in [Console] is incorrect, "
        "and the source/transform[fake_out] is not found.",
    ],
    "config_parse_error": [
        trace(
            "org.apache.seatunnel.shade.com.typesafe.config.ConfigException$Parse: "
            "String: 3: Key 'source {' may not be followed by token: '}' (if you intended '}' to be part of a key "
            "or string value, try enclosing the key or value in double quotes)"
        ),
    ],
    "jdbc_driver_missing": [
        trace(
            "org.apache.seatunnel.connectors.seatunnel.jdbc.exception.JdbcConnectorException: ErrorCode:[JDBC-01], "
            "ErrorDescription:[Fail to create driver of class] - Fail to create driver of class "
            "com.mysql.cj.jdbc.Driver",
            "java.lang.ClassNotFoundException: com.mysql.cj.jdbc.Driver",
        ),
    ],
    "jdbc_no_suitable_driver": [
        trace(
            "org.apache.seatunnel.connectors.seatunnel.jdbc.exception.JdbcConnectorException: ErrorCode:[JDBC-02], "
            "ErrorDescription:[No suitable driver found] - No suitable driver found for jdbc:mysql://db:3306/shop",
        ),
    ],
    "database_unreachable": [
        trace(
            "org.apache.seatunnel.connectors.seatunnel.jdbc.exception.JdbcConnectorException: ErrorCode:[JDBC-04], "
            "ErrorDescription:[Connector database failed] - Failed to connect to jdbc:mysql://db:3306/shop",
            "com.mysql.cj.jdbc.exceptions.CommunicationsException: Communications link failure\n\n"
            "The last packet sent successfully to the server was 0 milliseconds ago.",
            "java.net.ConnectException: Connection refused",
        ),
        trace(
            "org.postgresql.util.PSQLException: Connection to db.internal:5432 refused. Check that the hostname and "
            "port are correct and that the postmaster is accepting TCP/IP connections.",
        ),
    ],
    "class_not_found": [
        trace(JOB_FAILED, "java.lang.NoClassDefFoundError: org/apache/hadoop/conf/Configuration"),
        trace(
            "org.apache.seatunnel.common.exception.SeaTunnelRuntimeException: ErrorCode:[COMMON-15], "
            "ErrorDescription:[Class load operation failed]"
        ),
    ],
    "database_or_table_missing": [
        "org.apache.seatunnel.api.table.catalog.exception.TableNotExistException: ErrorCode:[API-05], "
        "ErrorDescription:[Table not existed] - Table shop.orders does not exist in Catalog MySQL.",
        "ErrorCode:[API-11], ErrorDescription:[The sink table not exist] - The sink table not exist",
    ],
    "sink_has_data": [
        trace(
            "org.apache.seatunnel.api.sink.SaveModeException: ErrorCode:[API-10], ErrorDescription:[The target "
            "data source already has data] - The target data source already has data"
        ),
    ],
    "unsupported_data_type": [
        "ErrorCode:[COMMON-16], ErrorDescription:[Unsupported convert type] - 'MySQL' unsupported convert type "
        "'GEOMETRY' of 'location' to SeaTunnel data type.",
    ],
    "schema_incompatible": [
        "ErrorCode:[COMMON-31], ErrorDescription:[The source has 5 fields, but the table of sink has 4 fields]",
    ],
    "write_row_failed": [
        trace(
            JOB_FAILED,
            "org.apache.seatunnel.common.exception.SeaTunnelRuntimeException: ErrorCode:[COMMON-23], "
            "ErrorDescription:[Write SeaTunnelRow failed] - 'Jdbc' write SeaTunnelRow failed, the SeaTunnelRow "
            "value is 'SeaTunnelRow{tableId=, kind=+I, fields=[1, null]}'.",
        ),
    ],
    "kerberos_failed": [
        "ErrorCode:[COMMON-35], ErrorDescription:[Kerberos authorized failed] - Kerberos authorized failed",
    ],
    "kafka_consume_failed": [
        trace(
            JOB_FAILED,
            "org.apache.seatunnel.connectors.seatunnel.kafka.exception.KafkaConnectorException: "
            "ErrorCode:[KAFKA-06], ErrorDescription:[Kafka failed to consume data]",
        ),
    ],
    "file_source_failed": [
        "ErrorCode:[FILE-03], ErrorDescription:[Get file list failed] - Get file list from this path [/data/in] failed",
    ],
    "heap_out_of_memory": [
        "java.lang.OutOfMemoryError: Java heap space\n\tat java.util.Arrays.copyOf(Arrays.java:3236)\n",
        trace(JOB_FAILED, "java.lang.OutOfMemoryError: GC overhead limit exceeded"),
    ],
    "metaspace_out_of_memory": [trace(JOB_FAILED, "java.lang.OutOfMemoryError: Metaspace")],
    "checkpoint_expired": [
        trace(
            "org.apache.seatunnel.engine.server.checkpoint.CheckpointException: Checkpoint expired before "
            "completing. Please increase checkpoint timeout in the seatunnel.yaml or jobConfig env."
        ),
    ],
    "checkpoint_storage_failed": [
        trace(
            "org.apache.seatunnel.engine.server.checkpoint.CheckpointException: CheckpointCoordinator inside have "
            "error.",
            "org.apache.seatunnel.engine.checkpoint.storage.exception.CheckpointStorageException: store "
            "checkpoint failed, job id : 925126364582518785, pipeline id : 1",
        ),
    ],
    "checkpoint_after_savepoint_stall": [
        "2024-03-01 10:00:00,123 INFO  [o.a.s.e.s.c.CheckpointCoordinator] [pool-2-thread-1] - can't trigger "
        "checkpoint with type: CHECKPOINT_TYPE, because checkpoint coordinator already have last completed "
        "checkpoint: (SAVEPOINT_TYPE)",
    ],
    "not_enough_resources": [
        trace(
            "org.apache.seatunnel.engine.server.resourcemanager.NoEnoughResourceException: can't apply resource request"
        ),
        "Job Resource not enough, jobId: 925126364582518785",
        "[925126364582518785] 2024-10-23 10:00:00,123 INFO  [o.a.s.e.s.CoordinatorService] [pool-1] - Current "
        "strategy is REJECT, and resources is not enough, skipping this schedule, JobID: 925126364582518785",
    ],
    "job_pending_for_resources": [
        "[925126364582518785] 2024-10-23 10:00:00,123 INFO  [o.a.s.e.s.CoordinatorService] [pool-1] - Current "
        "strategy is WAIT, and resources is not enough, skipping this schedule, JobID: 925126364582518785",
    ],
    "cli_job_failed_wrapper": [
        trace(CLI),
    ],
    "job_failed_generic": [
        "Job (925126364582518785) end with state FAILED",
        "Job nightly orders (925126364582518785) end with state FAILED",
        "taskGroup TaskGroupLocation{jobId=925126364582518785, pipelineId=1, taskGroupId=3} complete with FAILED",
    ],
    "worker_lost": [
        "The taskGroup(TaskGroupLocation{jobId=925126364582518785, pipelineId=1, taskGroupId=1}) deployed "
        "node([10.0.0.12]:5802) offline",
        trace("com.hazelcast.core.MemberLeftException: Member [10.0.0.12]:5802 - has left cluster!"),
    ],
    "savepoint_on_non_running_job": [
        "The job with id '925126364582518785' not running, save point failed",
        "Task not all ready, savepoint error",
    ],
    "restore_failed": [
        "java.lang.IllegalStateException: job can not restore when last checkpoint failed",
        "java.lang.NullPointerException\n"
        "\tat org.apache.seatunnel.engine.server.checkpoint.CheckpointManager.restoreCheckpoint"
        "(CheckpointManager.java:201)\n"
        "\tat org.apache.seatunnel.engine.server.master.JobMaster.restore(JobMaster.java:488)\n",
    ],
    "client_cannot_connect": [
        trace(
            "java.lang.IllegalStateException: Unable to connect to any cluster.",
            "com.hazelcast.core.HazelcastException: Unable to connect to any address from the cluster with name: "
            "seatunnel. The following addresses were tried: [localhost/127.0.0.1:5801]",
        ),
        "com.hazelcast.client.HazelcastClientOfflineException: Unable to get live cluster connection, cluster "
        "connect timeout (3000 ms) is reached.",
    ],
    "cluster_name_mismatch": [
        trace(
            "com.hazelcast.client.AuthenticationException: Authentication failed. The configured cluster name on "
            "the client (see ClientConfig.setClusterName()) does not match the one configured in the cluster or "
            "the credentials set in the Client security config could not be authenticated"
        ),
    ],
    "member_port_in_use": [
        "2024-10-23 10:00:00,123 ERROR [c.h.i.i.Node] [main] - [10.0.0.11]:5801 [seatunnel] [5.1] Port [5801] is "
        "already in use and auto-increment is disabled. Hazelcast cannot start.",
        trace(
            "com.hazelcast.core.HazelcastException: ServerSocket bind has failed. Hazelcast cannot start. "
            "config-port: 5801, latest-port: 5801",
            "java.net.BindException: Address already in use",
        ),
    ],
    "rest_port_in_use": [
        trace(
            "org.apache.seatunnel.engine.common.exception.SeaTunnelEngineException: Jetty server start failed",
            "java.io.IOException: Failed to bind to 0.0.0.0/0.0.0.0:8080",
            "java.net.BindException: Address already in use",
        ),
    ],
    "member_heartbeat_lost": [
        "2024-10-23 10:00:00,123 WARN  [c.h.i.c.i.ClusterHeartbeatManager] [hz.main.cached.thread-3] - "
        "[10.0.0.11]:5801 [seatunnel] [5.1] Suspecting Member [10.0.0.12]:5802 - 4f1d... because it has not "
        "sent any heartbeats since 2024-10-23 09:57:00.000. Now: 2024-10-23 10:00:00.123, heartbeat timeout: "
        "180000 ms",
    ],
    "peer_connection_refused": [
        trace(
            "com.hazelcast.core.HazelcastException: java.io.IOException: Connection refused to address /10.0.0.12:5801"
        ),
    ],
    "no_master": [
        "This is not a master node now.",
        "com.hazelcast.spi.exception.RetryableHazelcastException: master not yet known",
    ],
    "failover_restore_retryable": [
        "com.hazelcast.spi.exception.RetryableHazelcastException: Cannot read from IMap engine_runningJobInfo "
        "because the partition is still loading\n"
        "\tat com.hazelcast.map.impl.MapKeyLoader.checkLoaded(MapKeyLoader.java:541)\n"
        "\tat org.apache.seatunnel.engine.server.CoordinatorService.restoreAllRunningJobFromMasterNodeSwitch"
        "(CoordinatorService.java:401)\n",
    ],
    "unsupported_cluster_role": ["java.lang.IllegalArgumentException: Not supported cluster role: manager"],
    "hazelcast_config_missing": ["Error: File /opt/seatunnel/config/hazelcast-master.yaml does not exist."],
    "savepoint_resume_without_job_id": [
        '{"status":"fail","message":"Please provide jobId when start with save point."}'
    ],
    "rest_invalid_body": [
        '{"status":"fail","message":"Invalid JSON format in request body."}',
        '{"status":"fail","message":"Request body is empty."}',
    ],
    "rest_fail_without_message": ['{"status":"fail","message":null}'],
    "job_unknown_or_expired": ['{"jobId": "925126364582518785"}'],
    "rest_basic_auth_required": ['HTTP/1.1 401 Unauthorized\nWWW-Authenticate: Basic realm="SeaTunnel Web UI"'],
    "rest_v1_disabled": ["GET http://10.0.0.11:5801/hazelcast/rest/maps/overview answered 404 Not Found"],
    "rest_dry_run_rejected": ['{"status":"fail","message":"Dry-run is only supported via CLI"}'],
}

# Texts with the metrics that make a conditioned fingerprint match: (id, text, metrics).
WITH_METRICS: list[tuple[str, str, dict[str, float]]] = [
    (
        "checkpoint_timeout_too_small",
        SAMPLES["checkpoint_expired"][0],
        {"checkpoint.timeout": 500, "checkpoint.interval": 10000},
    ),
]

# Texts that are no fault: INFO lines, a banner, unrelated warnings, a finished job.
UNRELATED: list[str] = [
    "",
    "2024-10-23 10:00:00,123 INFO  [o.a.s.e.s.SeaTunnelServer] [main] - SeaTunnel server start success",
    "2024-10-23 10:00:01,000 INFO  [c.h.i.c.ClusterService] [hz.main.generic-operation.thread-0] - Members "
    "{size:2, ver:2} [\n\tMember [10.0.0.11]:5801 - a1 this\n\tMember [10.0.0.12]:5802 - b2\n]",
    "2024-10-23 10:00:02,000 WARN  [o.a.h.u.NativeCodeLoader] [main] - Unable to load native-hadoop library for "
    "your platform... using builtin-java classes where applicable",
    "2024-10-23 10:00:03,000 INFO  [o.a.s.e.s.m.JobMaster] [pool-3] - Job (925126364582518785) end with state FINISHED",
    "2024-10-23 10:00:04,000 INFO  [o.a.s.e.s.c.CheckpointCoordinator] [pool-4] - pending checkpoint(1/1@"
    "925126364582518785) notify finished!",
    '{"jobId":"925126364582518785","jobName":"nightly","jobStatus":"FINISHED","errorMsg":null}',
    "The quick brown fox jumps over the lazy dog.",
    "Exception in thread main? No: all rows written (1000), job done.",
    "2024-10-23 10:00:05,000 WARN  [o.a.s.c.s.j.s.JdbcSinkWriter] [pool-5] - Connection idle for 60 s, reconnecting",
]

BANNER = r"""
               *******              ******  ******
             ********   (ASCII art of the SeaTunnel engine's start-up banner)
            **                 **  ** **   **
             ******     *****  *****   *****   **     **  ********
                  **   **   **  **  **  **  **  **     **  **    **
            ********     *****   **  **   **  **   ******* **    **
"""

# The shape of a real engine log (2.3.3, issue #5722): logger names without brackets, frames indented with spaces
# and a jar suffix, the same trace logged several times, the fault also named in INFO lines around it.
ENGINE_LOG_233 = (
    "2023-10-26 15:27:04,899 INFO  org.apache.seatunnel.engine.server.checkpoint.CheckpointCoordinator - wait "
    "checkpoint completed: 7\n"
    "2023-10-26 15:27:04,903 INFO  org.apache.seatunnel.engine.server.checkpoint.CheckpointCoordinator - timeout "
    "checkpoint: 769824035470049281/1/1, CHECKPOINT_TYPE\n"
    "2023-10-26 15:27:04,904 INFO  org.apache.seatunnel.engine.server.checkpoint.CheckpointCoordinator - start clean "
    "pending checkpoint cause Checkpoint expired before completing. Please increase checkpoint timeout in the "
    "seatunnel.yaml\n"
    + (
        "2023-10-26 15:27:04,904 ERROR org.apache.seatunnel.engine.server.checkpoint.CheckpointCoordinator - trigger "
        "checkpoint failed\n"
        "org.apache.seatunnel.engine.server.checkpoint.CheckpointException: Checkpoint expired before completing. "
        "Please increase checkpoint timeout in the seatunnel.yaml\n"
        "        at org.apache.seatunnel.engine.server.checkpoint.PendingCheckpoint.abortCheckpoint"
        "(PendingCheckpoint.java:172) ~[seatunnel-starter.jar:2.3.3]\n"
        "        at java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:628) ~[?:?]\n"
        "        at java.lang.Thread.run(Thread.java:834) [?:?]\n"
    )
    * 3
)
