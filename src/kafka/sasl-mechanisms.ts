/** The SASL mechanisms pkgstream speaks to Kafka (settings and client share this list). */
export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const;
