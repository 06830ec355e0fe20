/** The account id in every local ARN; fauxqs uses the same one for its queues. */
export const LOCAL_ACCOUNT_ID = '000000000000';
