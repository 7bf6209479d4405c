package dev.sluice;

/**
 * Turns the bytes of one schema version of a payload type into the bytes of the next version, so
 * one handler serves old messages too. Must be pure and thread-safe.
 */
@FunctionalInterface
public interface Upcaster {
  byte[] upcast(byte[] older) throws Exception;
}
