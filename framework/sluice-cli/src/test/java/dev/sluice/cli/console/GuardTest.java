package dev.sluice.cli.console;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GuardTest {
  @Test
  void hostNameDropsThePortAndKeepsIpv6Brackets() {
    assertThat(Guard.hostName("localhost:8740")).isEqualTo("localhost");
    assertThat(Guard.hostName("LocalHost")).isEqualTo("localhost");
    assertThat(Guard.hostName("[::1]:8740")).isEqualTo("[::1]");
    assertThat(Guard.hostName("127.0.0.1")).isEqualTo("127.0.0.1");
    assertThat(Guard.hostName("evil.example:80")).isEqualTo("evil.example");
    assertThat(Guard.hostName(" ")).isNull();
    assertThat(Guard.hostName(null)).isNull();
  }
}
