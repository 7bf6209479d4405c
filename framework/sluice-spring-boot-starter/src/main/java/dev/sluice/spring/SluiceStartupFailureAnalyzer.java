package dev.sluice.spring;

import org.springframework.boot.diagnostics.AbstractFailureAnalyzer;
import org.springframework.boot.diagnostics.FailureAnalysis;

/**
 * Turns a {@link SluiceStartupException} into Spring Boot's "APPLICATION FAILED TO START" report:
 * the problem as the description, what to do as the action, without the bean-creation chain.
 */
class SluiceStartupFailureAnalyzer extends AbstractFailureAnalyzer<SluiceStartupException> {
  @Override
  protected FailureAnalysis analyze(Throwable rootFailure, SluiceStartupException cause) {
    return new FailureAnalysis(cause.problem(), cause.action(), cause);
  }
}
