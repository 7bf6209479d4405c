package dev.sluice.spring;

/**
 * Sluice cannot start in this application: what is wrong and what to do about it. Spring Boot
 * prints the two apart ("Description" and "Action") when the application fails to start; the
 * message holds both.
 */
public class SluiceStartupException extends IllegalStateException {
  private static final long serialVersionUID = 1L;

  private final String problem;
  private final String action;

  public SluiceStartupException(String problem, String action, Throwable cause) {
    super(problem + ": " + action, cause);
    this.problem = problem;
    this.action = action;
  }

  /** What is wrong. */
  public String problem() {
    return problem;
  }

  /** What to do about it. */
  public String action() {
    return action;
  }
}
