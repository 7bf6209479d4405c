package dev.sluice.bench;

import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * CPU used over one measured period by this JVM (producer, workers and monitor alike) and by the
 * broker processes (the nats-server nodes, or RabbitMQ's Erlang VM). Start with {@link #start},
 * read the two totals with {@link #stop}.
 */
final class CpuMeter {
  private final List<Long> serverPids;
  private long jvm0;
  private long server0;
  private long alloc0;

  /**
   * The figures of one period: microseconds of CPU, -1 when a process could not be read, and the
   * bytes this JVM's threads allocated (-1 when the JVM cannot tell).
   */
  record Usage(long jvmMicros, long serverMicros, long allocatedBytes) {
    /** µs per message, or -1 when unknown. */
    static double perMsg(long micros, long messages) {
      return micros < 0 || messages <= 0 ? -1 : (double) micros / messages;
    }
  }

  CpuMeter(List<Long> serverPids) {
    this.serverPids = List.copyOf(serverPids);
  }

  void start() {
    jvm0 = ProcCpu.micros(ProcCpu.self());
    server0 = servers();
    alloc0 = allocated();
  }

  Usage stop() {
    long jvm1 = ProcCpu.micros(ProcCpu.self());
    long server1 = servers();
    long alloc1 = allocated();
    return new Usage(
        jvm0 < 0 || jvm1 < 0 ? -1 : jvm1 - jvm0,
        server0 < 0 || server1 < 0 ? -1 : server1 - server0,
        alloc0 < 0 || alloc1 < 0 ? -1 : alloc1 - alloc0);
  }

  /**
   * Bytes allocated so far by this JVM's live threads (HotSpot's per-thread counters): unlike CPU
   * time, it does not grow when the machine is busy, so it compares two builds of the same pipeline
   * on a shared machine. Threads that ended during the period are not counted (the pipelines'
   * threads live as long as their pass). -1 when the JVM does not count.
   */
  static long allocated() {
    if (!(ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean t)
        || !t.isThreadAllocatedMemorySupported()
        || !t.isThreadAllocatedMemoryEnabled()) {
      return -1;
    }
    long sum = 0;
    for (long b : t.getThreadAllocatedBytes(t.getAllThreadIds())) {
      sum += Math.max(0, b);
    }
    return sum;
  }

  private long servers() {
    if (serverPids.isEmpty()) {
      return -1;
    }
    long sum = 0;
    for (long pid : serverPids) {
      long m = ProcCpu.micros(pid);
      if (m < 0) {
        return -1;
      }
      sum += m;
    }
    return sum;
  }
}
