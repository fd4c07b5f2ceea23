import { CONTRACT_BACKENDS } from "./storage_backends.ts";
import { runStorageContract } from "./storage_contract.ts";

runStorageContract(CONTRACT_BACKENDS);
