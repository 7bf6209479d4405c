/**
 * Sluice for Spring Boot 3: auto-configuration from {@code sluice.*} properties, {@link
 * dev.sluice.spring.SluiceListener} methods run as workers in the context's lifecycle, a {@link
 * dev.sluice.spring.SluiceTemplate} to send, a {@code sluice} health contributor and Micrometer
 * metrics on the application's registry. See {@code docs/SPRING.md}.
 *
 * <p>Why a template that opens one producer per queue, rather than a producer bean per queue
 * declared in properties: a queue's producer exists only once something sends to it, and the
 * application names queues in code where it sends, as it does with Spring AMQP's {@code
 * RabbitTemplate}; a bean per queue would need properties to repeat what the code already says.
 */
package dev.sluice.spring;
