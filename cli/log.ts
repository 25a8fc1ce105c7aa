/** The daemon's root logger: pino JSON on stdout; components take a child ({ component }). */
import { pino, type Logger } from 'pino';

export function createLogger(level: string, gatewayId: string): Logger {
  return pino({ level, base: { gatewayId }, timestamp: pino.stdTimeFunctions.isoTime });
}
