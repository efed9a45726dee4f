/*
 * pysetl's Spark listener: the figures of each pysetl job group, summed in the
 * driver's JVM as Spark's listener bus delivers its events.
 *
 * The engine runs each factory under the job group "pysetl:<run>:<factory>"
 * (see pysetl.workflow.spark). For every such group this listener counts its
 * jobs (and the failed ones), the stages that ran, and sums the metrics of
 * their tasks. The metrics collector takes a group's figures once its
 * factory has ended: one Py4J call returning one JSON text, where reading the
 * status store costs a few calls per job and stage (see _spark.py).
 *
 * Built into pysetl-listener.jar by scripts/build_listener.sh (javac 17); the
 * jar records the SHA-256 of this file, which a test compares. Only plain
 * Java types cross to Python, and no Scala collection is touched, so the
 * class links against Spark 3.5 (Scala 2.12) and 4.x (Scala 2.13) alike.
 */
package pysetl.jvm;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerStageCompleted;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import org.apache.spark.scheduler.SparkListenerTaskStart;
import org.apache.spark.scheduler.StageInfo;
import org.apache.spark.scheduler.TaskInfo;

public final class GroupListener extends SparkListener {
    private static final String GROUP_KEY = "spark.jobGroup.id";
    private static final String PREFIX = "pysetl:";
    private static final int MAX_GROUPS = 1024; // groups never taken are dropped, oldest first
    private static final int MAX_IDS = 8192; // job and stage ids remembered

    /** The sums of one job group. */
    private static final class Figures {
        long jobs, failedJobs, stages, tasks, failedTasks;
        long inputRecords, inputBytes, outputRecords, outputBytes;
        long shuffleReadBytes, shuffleWriteBytes, memorySpilled, diskSpilled;
        long runMillis, cpuNanos, gcMillis, peakMemory;
        final Map<String, Long> executors = new TreeMap<>();
        final StringBuilder jobIds = new StringBuilder();
    }

    /** The progress of one job, as the status store's job record counts it. */
    private static final class Job {
        final int id;
        final String group;
        final List<Integer> stages = new ArrayList<>();
        final Set<Integer> stagesDone = new HashSet<>();
        String status = "RUNNING";
        long tasks, completed, failed, active;

        Job(final int id, final String group) {
            this.id = id;
            this.group = group;
        }
    }

    private final Map<String, Figures> groups = bounded(MAX_GROUPS);
    private final Map<String, List<Job>> groupJobs = bounded(MAX_GROUPS);
    private final Map<String, StringBuilder> groupJobIds = bounded(MAX_GROUPS);
    private final Map<Integer, Job> jobs = bounded(MAX_IDS);
    private final Map<Integer, List<Job>> stageJobs = bounded(MAX_IDS);
    private final Map<Integer, String> stageGroups = bounded(MAX_IDS);
    private final Map<Integer, Boolean> stagesSeen = bounded(MAX_IDS);

    private static <K, V> Map<K, V> bounded(final int size) {
        return new LinkedHashMap<K, V>(16, 0.75f, false) {
            private static final long serialVersionUID = 1L;

            @Override
            protected boolean removeEldestEntry(final Map.Entry<K, V> eldest) {
                return size() > size;
            }
        };
    }

    private static String groupOf(final Properties properties) {
        if (properties == null) {
            return null;
        }
        final String group = properties.getProperty(GROUP_KEY);
        return group != null && group.startsWith(PREFIX) ? group : null;
    }

    private Figures figures(final String group) {
        Figures found = groups.get(group);
        if (found == null) {
            found = new Figures();
            groups.put(group, found);
        }
        return found;
    }

    @Override
    public synchronized void onJobStart(final SparkListenerJobStart event) {
        final String group = groupOf(event.properties());
        if (group != null) {
            final Figures sums = figures(group);
            sums.jobs += 1;
            sums.jobIds.append(sums.jobIds.length() == 0 ? "" : ",").append(event.jobId());
            StringBuilder ids = groupJobIds.get(group);
            if (ids == null) {
                ids = new StringBuilder();
                groupJobIds.put(group, ids);
            }
            ids.append(ids.length() == 0 ? "" : ",").append(event.jobId());
            startJob(event, group);
        }
    }

    private void startJob(final SparkListenerJobStart event, final String group) {
        final Job job = new Job(event.jobId(), group);
        jobs.put(job.id, job);
        List<Job> ofGroup = groupJobs.get(group);
        if (ofGroup == null) {
            ofGroup = new ArrayList<>();
            groupJobs.put(group, ofGroup);
        }
        ofGroup.add(job);
        final scala.collection.Iterator<?> infos;
        try { // stageInfos is a Seq of Scala 2.12 or 2.13: found by name
            final Object seq = event.getClass().getMethod("stageInfos").invoke(event);
            infos = ((scala.collection.Iterable<?>) seq).iterator();
        } catch (ReflectiveOperationException | ClassCastException e) {
            return; // no progress for this job; its figures are still summed
        }
        while (infos.hasNext()) {
            final StageInfo stage = (StageInfo) infos.next();
            job.stages.add(stage.stageId());
            if (stage.completionTime().isEmpty()) { // not skipped: its tasks will run
                job.tasks += stage.numTasks();
            }
            List<Job> ofStage = stageJobs.get(stage.stageId());
            if (ofStage == null) {
                ofStage = new ArrayList<>(1);
                stageJobs.put(stage.stageId(), ofStage);
            }
            ofStage.add(job);
        }
    }

    @Override
    public synchronized void onJobEnd(final SparkListenerJobEnd event) {
        final Job job = jobs.remove(event.jobId());
        if (job == null) { // not a pysetl group's job
            return;
        }
        final boolean failed = event.jobResult().getClass().getSimpleName().startsWith("JobFailed");
        job.status = failed ? "FAILED" : "SUCCEEDED";
        if (failed) {
            figures(job.group).failedJobs += 1;
        }
    }

    @Override
    public synchronized void onStageCompleted(final SparkListenerStageCompleted event) {
        final StageInfo stage = event.stageInfo();
        final List<Job> ofStage = stageJobs.get(stage.stageId());
        if (ofStage != null && stage.failureReason().isEmpty()) {
            for (final Job job : ofStage) {
                job.stagesDone.add(stage.stageId());
            }
        }
    }

    @Override
    public synchronized void onTaskStart(final SparkListenerTaskStart event) {
        final List<Job> ofStage = stageJobs.get(event.stageId());
        if (ofStage != null) {
            for (final Job job : ofStage) {
                job.active += 1;
            }
        }
    }

    @Override
    public synchronized void onStageSubmitted(final SparkListenerStageSubmitted event) {
        final String group = groupOf(event.properties());
        final int stage = event.stageInfo().stageId();
        if (group == null) {
            return;
        }
        stageGroups.put(stage, group);
        if (stagesSeen.put(stage, Boolean.TRUE) == null) { // a retried stage counts once
            figures(group).stages += 1;
        }
    }

    @Override
    public synchronized void onTaskEnd(final SparkListenerTaskEnd event) {
        final String group = stageGroups.get(event.stageId());
        if (group == null) {
            return;
        }
        final Figures sums = figures(group);
        final TaskInfo info = event.taskInfo();
        final List<Job> ofStage = stageJobs.get(event.stageId());
        if (ofStage != null && info != null) {
            for (final Job job : ofStage) {
                job.active -= 1;
                job.completed += info.successful() ? 1 : 0;
                job.failed += info.failed() ? 1 : 0;
            }
        }
        if (info != null) {
            sums.executors.merge(info.executorId(), 1L, Long::sum);
            if (info.failed()) {
                sums.tasks += 1;
                sums.failedTasks += 1;
            } else if (info.successful()) {
                sums.tasks += 1;
            }
        }
        final TaskMetrics metrics = event.taskMetrics();
        if (metrics == null) {
            return;
        }
        sums.inputRecords += metrics.inputMetrics().recordsRead();
        sums.inputBytes += metrics.inputMetrics().bytesRead();
        sums.outputRecords += metrics.outputMetrics().recordsWritten();
        sums.outputBytes += metrics.outputMetrics().bytesWritten();
        sums.shuffleReadBytes += metrics.shuffleReadMetrics().totalBytesRead();
        sums.shuffleWriteBytes += metrics.shuffleWriteMetrics().bytesWritten();
        sums.memorySpilled += metrics.memoryBytesSpilled();
        sums.diskSpilled += metrics.diskBytesSpilled();
        sums.runMillis += metrics.executorRunTime();
        sums.cpuNanos += metrics.executorCpuTime();
        sums.gcMillis += metrics.jvmGCTime();
        sums.peakMemory = Math.max(sums.peakMemory, metrics.peakExecutionMemory());
    }

    /**
     * The figures of job group {@code group} as one JSON object, forgotten once
     * taken; {@code null} when the group ran no job since it was last taken.
     */
    public synchronized String take(final String group) {
        groupJobs.remove(group);
        final Figures sums = groups.remove(group);
        if (sums == null) {
            return null;
        }
        final StringBuilder out = new StringBuilder(512);
        out.append("{\"job_ids\":[").append(sums.jobIds).append(']')
            .append(",\"jobs\":").append(sums.jobs)
            .append(",\"failed_jobs\":").append(sums.failedJobs)
            .append(",\"stages\":").append(sums.stages)
            .append(",\"tasks\":").append(sums.tasks)
            .append(",\"failed_tasks\":").append(sums.failedTasks)
            .append(",\"input_records\":").append(sums.inputRecords)
            .append(",\"input_bytes\":").append(sums.inputBytes)
            .append(",\"output_records\":").append(sums.outputRecords)
            .append(",\"output_bytes\":").append(sums.outputBytes)
            .append(",\"shuffle_read_bytes\":").append(sums.shuffleReadBytes)
            .append(",\"shuffle_write_bytes\":").append(sums.shuffleWriteBytes)
            .append(",\"memory_spilled_bytes\":").append(sums.memorySpilled)
            .append(",\"disk_spilled_bytes\":").append(sums.diskSpilled)
            .append(",\"run_millis\":").append(sums.runMillis)
            .append(",\"cpu_nanos\":").append(sums.cpuNanos)
            .append(",\"gc_millis\":").append(sums.gcMillis)
            .append(",\"peak_execution_memory_bytes\":").append(sums.peakMemory)
            .append(",\"executors\":{");
        boolean first = true;
        for (final Map.Entry<String, Long> entry : sums.executors.entrySet()) {
            if (!first) {
                out.append(',');
            }
            first = false;
            quote(out, entry.getKey()).append(':').append(entry.getValue());
        }
        return out.append("}}").toString();
    }

    /**
     * The progress of the jobs of each job group named in {@code groups} (one a
     * line): a JSON object of the groups that ran jobs, each a list of job
     * records with the status store's names (jobId, status, stageIds, numTasks,
     * numCompletedTasks, numFailedTasks, numActiveTasks, numCompletedStages).
     */
    public synchronized String progress(final String groups) {
        final StringBuilder out = new StringBuilder(256).append('{');
        boolean firstGroup = true;
        for (final String group : groups.split("\n")) {
            final List<Job> ofGroup = groupJobs.get(group);
            if (ofGroup == null) {
                continue;
            }
            if (!firstGroup) {
                out.append(',');
            }
            firstGroup = false;
            quote(out, group).append(":[");
            for (int i = 0; i < ofGroup.size(); i++) {
                final Job job = ofGroup.get(i);
                out.append(i == 0 ? "" : ",").append("{\"jobId\":").append(job.id)
                    .append(",\"status\":\"").append(job.status)
                    .append("\",\"stageIds\":").append(job.stages.toString().replace(" ", ""))
                    .append(",\"numTasks\":").append(job.tasks)
                    .append(",\"numCompletedTasks\":").append(job.completed)
                    .append(",\"numFailedTasks\":").append(job.failed)
                    .append(",\"numActiveTasks\":").append(Math.max(job.active, 0))
                    .append(",\"numCompletedStages\":").append(job.stagesDone.size())
                    .append('}');
            }
            out.append(']');
        }
        return out.append('}').toString();
    }

    /**
     * The ids of every job of job group {@code group} as a JSON list, oldest
     * first; kept when the figures are taken (the last 1,024 groups).
     */
    public synchronized String jobIds(final String group) {
        final StringBuilder ids = groupJobIds.get(group);
        return "[" + (ids == null ? "" : ids.toString()) + "]";
    }

    /** Job groups with figures not taken yet (for tests and diagnostics). */
    public synchronized int pending() {
        return groups.size();
    }

    private static StringBuilder quote(final StringBuilder out, final String text) {
        out.append('"');
        for (int i = 0; i < text.length(); i++) {
            final char c = text.charAt(i);
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format("\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.append('"');
    }
}
