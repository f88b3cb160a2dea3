variable "project_number" {
  description = "Project number, for the Pub/Sub service agent's address."
  type        = string
}

variable "ops" {
  description = "Operation names."
  type        = list(string)
}

variable "topic_prefix" {
  description = "Name prefix of every topic and subscription."
  type        = string
}

variable "ack_deadline_seconds" {
  description = "Ack deadline of the subscriptions (10..600)."
  type        = number
}

variable "minimum_backoff" {
  description = "Retry policy minimum backoff, e.g. \"10s\"."
  type        = string
}

variable "maximum_backoff" {
  description = "Retry policy maximum backoff, e.g. \"600s\"."
  type        = string
}

variable "max_delivery_attempts" {
  description = "Deliveries before a message is forwarded to the dead-letter topic (5..100)."
  type        = number
}
