package dev.sluice.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.sluice.testkit.NatsServerExtension;
import io.nats.client.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** sluice.user / sluice.password and sluice.token reach a server that requires them. */
class SluiceCredentialsTest {
  @RegisterExtension
  static final NatsServerExtension NATS =
      NatsServerExtension.withConfig(
          "authorization {", "  users = [ { user: app, password: s3cret } ]", "}");

  private ApplicationContextRunner runner() {
    return new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(SluiceAutoConfiguration.class))
        .withPropertyValues("sluice.server=" + NATS.server().url(), "sluice.timeout=2s");
  }

  @Test
  void userAndPasswordFromProperties() {
    runner()
        .withPropertyValues("sluice.user=app", "sluice.password=s3cret")
        .run(
            ctx ->
                assertThat(ctx.getBean(Connection.class).getStatus())
                    .isEqualTo(Connection.Status.CONNECTED));
  }

  @Test
  void aWrongPasswordFailsTheStartNamingTheProperties() {
    runner()
        .withPropertyValues("sluice.user=app", "sluice.password=wrong")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("authorization failed on " + NATS.server().url())
                    .hasStackTraceContaining("check sluice.user/sluice.password"));
  }

  @Test
  void aPasswordWithoutAUserIsRefused() {
    runner()
        .withPropertyValues("sluice.password=s3cret")
        .run(
            ctx ->
                assertThat(ctx.getStartupFailure())
                    .hasStackTraceContaining("sluice.password is set without sluice.user"));
  }
}
