/** The account id in every local ARN (queues, the bus, secrets). */
export const LOCAL_ACCOUNT_ID = '000000000000';
